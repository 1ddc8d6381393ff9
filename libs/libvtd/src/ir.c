/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interrupt remapping (VT-d 5.1, 9.10): the per-unit interrupt remapping table, its index
 * allocator, IRTE encoding, and the enable/disable handshakes. Each unit owns one physically
 * contiguous table (the queue-page helper allocates it) and a bitmap of allocated entries sized
 * for VTD_IR_MAX_ORDER. Entries are written so the hardware never fetches a torn entry, and the
 * hardware may cache them (the interrupt entry cache): every change must be followed by an IEC
 * invalidation, which only the invalidation queue can carry, so IR requires QI.
 */
#include "gcmd.h"
#include "ir.h"
#include "mem.h"

#include <string.h>

unsigned vtd_irt_pages(unsigned order)
{
    uint64_t bytes = (uint64_t)VTD_IRTE_SIZE << order;
    return bytes <= VTD_PAGE_SIZE ? 1u : (unsigned)(bytes / VTD_PAGE_SIZE);
}

/* ---- Entries ------------------------------------------------------------------------------ */

enum vtd_err vtd_irte_encode(const struct vtd_irte_spec *s, bool x2apic, struct vtd_irte *out)
{
    if (!s || !out) {
        return VTD_ERR_INVAL;
    }
    if (s->vector < 16 || s->svt > VTD_IRTE_SVT_BUS || s->sq > 3 ||
        (s->delivery != VTD_IRTE_DLM_FIXED && s->delivery != VTD_IRTE_DLM_LOWPRI)) {
        return VTD_ERR_INVAL;
    }
    if (s->svt == VTD_IRTE_SVT_BUS && (s->sid >> 8) > (s->sid & 0xffu)) {
        return VTD_ERR_INVAL; /* start bus beyond end bus */
    }
    if (!x2apic && s->dest > 0xff) {
        return VTD_ERR_INVAL;
    }
    uint32_t dst = x2apic ? s->dest : VTD_IRTE_XAPIC_DST(s->dest);
    /* Lowest priority may pick any of the destinations: that is what RH = 1 asks for. */
    bool lowpri = s->delivery == VTD_IRTE_DLM_LOWPRI;
    uint64_t hi = 0;
    if (s->svt != VTD_IRTE_SVT_NONE) {
        hi = VTD_IRTE_SVT(s->svt) | VTD_IRTE_SID(s->sid) |
             (s->svt == VTD_IRTE_SVT_SID ? VTD_IRTE_SQ(s->sq) : 0);
    }
    out->lo = VTD_IRTE_P | (s->logical ? VTD_IRTE_DM : 0) | (lowpri ? VTD_IRTE_RH : 0) |
              (s->level ? VTD_IRTE_TM : 0) | VTD_IRTE_DLM(s->delivery) | VTD_IRTE_V(s->vector) |
              VTD_IRTE_DST(dst);
    out->hi = hi;
    return VTD_OK;
}

bool vtd_irte_decode(const struct vtd_irte *e, bool x2apic, struct vtd_irte_spec *out)
{
    if (!(e->lo & VTD_IRTE_P) || (e->lo & VTD_IRTE_IM)) {
        return false;
    }
    uint32_t dst = VTD_IRTE_DST_GET(e->lo);
    out->vector = VTD_IRTE_V_GET(e->lo);
    out->dest = x2apic ? dst : VTD_IRTE_XAPIC_DST_GET(dst);
    out->level = (e->lo & VTD_IRTE_TM) != 0;
    out->logical = (e->lo & VTD_IRTE_DM) != 0;
    out->delivery = VTD_IRTE_DLM_GET(e->lo);
    out->svt = VTD_IRTE_SVT_GET(e->hi);
    out->sq = VTD_IRTE_SQ_GET(e->hi);
    out->sid = VTD_IRTE_SID_GET(e->hi);
    return true;
}

/* A present entry libvtd may hand to the hardware: remapped format, xAPIC destination. */
static bool irte_valid(const struct vtd_irte *e)
{
    if (!(e->lo & VTD_IRTE_P)) {
        return true;
    }
    return !(e->lo & (VTD_IRTE_LO_RSVD | VTD_IRTE_IM | VTD_IRTE_XAPIC_DST_RSVD)) &&
           !(e->hi & VTD_IRTE_HI_RSVD) && VTD_IRTE_SVT_GET(e->hi) != 3;
}

/* ---- Enable / disable --------------------------------------------------------------------- */

static void table_release(struct vtd_unit *u)
{
    if (u->irt_va) {
        vtd_free_contiguous(u, vtd_irt_pages(u->irt_order), u->irt_va, u->irt_pa);
    }
    u->irt_va = NULL;
    u->irt_pa = 0;
    u->irt_order = 0;
    u->ir_used = 0;
    memset(u->ir_map, 0, sizeof(u->ir_map));
}

enum vtd_err vtd_ir_enable(struct vtd_unit *u, unsigned order)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (!u->f.ir) {
        return VTD_ERR_UNSUPPORTED;
    }
    if (order == 0) {
        order = VTD_IR_DEFAULT_ORDER;
    }
    if (order > VTD_IR_MAX_ORDER || !u->qi_on || u->ir_on) {
        return VTD_ERR_INVAL;
    }
    /* Firmware (or an enable that could not be rolled back) may have left IR on with a table we
     * do not own, or compatibility-format interrupts allowed: both off first, bounded. */
    uint32_t gsts = rd32(u, VTD_GSTS_REG);
    enum vtd_err e = VTD_OK;
    if ((gsts & VTD_GSTS_IRES) || (u->gcmd & VTD_GCMD_IRE)) {
        e = vtd_gcmd_set(u, VTD_GCMD_IRE, false);
    }
    if (e == VTD_OK && ((gsts & VTD_GSTS_CFIS) || (u->gcmd & VTD_GCMD_CFI))) {
        e = vtd_gcmd_set(u, VTD_GCMD_CFI, false);
    }
    if (e != VTD_OK) {
        return e;
    }
    table_release(u); /* a table kept by a failed enable: IRE is seen off now */

    unsigned pages = vtd_irt_pages(order);
    void *va;
    uint64_t pa;
    e = vtd_alloc_contiguous(u, pages, &va, &pa);
    if (e != VTD_OK) {
        return e;
    }
    flush(u, va, (size_t)VTD_IRTE_SIZE << order); /* all zero: not present */
    u->irt_va = va;
    u->irt_pa = pa;
    u->irt_order = order;

    /* EIME stays 0: destinations are xAPIC ids (DST 15:8). S = log2(entries) - 1. */
    wr64(u, VTD_IRTA_REG, (pa & VTD_IRTA_ADDR_MASK) | VTD_IRTA_S(order - 1));
    e = vtd_gcmd_one_shot(u, VTD_GCMD_SIRTP, VTD_GSTS_IRTPS);
    if (e == VTD_OK) {
        /* Nothing cached from an earlier table (firmware's, or ours before a disable) may be used
         * once IRE is on (VT-d 6.5.2.7). */
        struct vtd_batch b;
        vtd_batch_init(&b, u);
        e = vtd_batch_add_iec_global(&b);
        if (e == VTD_OK) {
            e = vtd_batch_submit(&b, 0);
        }
    }
    if (e == VTD_OK) {
        e = vtd_gcmd_set(u, VTD_GCMD_IRE, true);
    }
    if (e == VTD_OK && (rd32(u, VTD_GSTS_REG) & VTD_GSTS_CFIS)) {
        e = VTD_ERR_HW; /* compatibility-format interrupts would bypass the table */
    }
    if (e != VTD_OK) {
        /* Roll back: IRE off (the write carries IRE clear even if the status never showed it
         * set); the table goes only once the hardware is seen not to use it. */
        if (vtd_gcmd_set(u, VTD_GCMD_IRE, false) == VTD_OK) {
            table_release(u);
        }
        return e;
    }
    u->ir_on = true;
    return VTD_OK;
}

enum vtd_err vtd_ir_disable(struct vtd_unit *u)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (!u->ir_on) {
        return VTD_OK;
    }
    enum vtd_err e = vtd_gcmd_set(u, VTD_GCMD_IRE, false);
    if (e != VTD_OK) {
        return e; /* the hardware may still read the table: keep it */
    }
    u->ir_on = false;
    /* No cached entry may outlive the memory it came from (the pages go back to the pool). If
     * the invalidation fails the table stays with the unit; the next enable or destroy frees
     * it. */
    struct vtd_batch b;
    vtd_batch_init(&b, u);
    e = vtd_batch_add_iec_global(&b);
    if (e == VTD_OK) {
        e = vtd_batch_submit(&b, 0);
    }
    if (e != VTD_OK) {
        return e;
    }
    table_release(u);
    return VTD_OK;
}

bool vtd_ir_enabled(const struct vtd_unit *u)
{
    return u && u->ir_on;
}

uint32_t vtd_ir_size(const struct vtd_unit *u)
{
    return u && u->ir_on ? 1u << u->irt_order : 0;
}

/* ---- Index allocation --------------------------------------------------------------------- */

static bool count_ok(unsigned count)
{
    return count >= 1 && count <= 32 && !(count & (count - 1));
}

/* Bits [index, index + count) of the map; an aligned block of <= 32 never straddles a word. */
static uint64_t block_mask(uint32_t index, unsigned count)
{
    return ((1ull << count) - 1) << (index % 64);
}

enum vtd_err vtd_ir_alloc(struct vtd_unit *u, unsigned count, uint32_t *index)
{
    if (!u || !index || !count_ok(count)) {
        return VTD_ERR_INVAL;
    }
    if (!u->ir_on) {
        return VTD_ERR_STATE;
    }
    uint32_t n = 1u << u->irt_order;
    for (uint32_t i = 0; i + count <= n; i += count) {
        uint64_t *w = &u->ir_map[i / 64];
        if (*w == ~0ull) {
            i = (i / 64 + 1) * 64 - count; /* word full: on to the next one */
            continue;
        }
        uint64_t m = block_mask(i, count);
        if (!(*w & m)) {
            *w |= m;
            u->ir_used += count;
            *index = i;
            return VTD_OK;
        }
    }
    return VTD_ERR_NOSPACE;
}

static volatile uint64_t *irte_slot(const struct vtd_unit *u, uint32_t index)
{
    return (volatile uint64_t *)((char *)u->irt_va + (size_t)index * VTD_IRTE_SIZE);
}

static bool allocated(const struct vtd_unit *u, uint32_t index)
{
    return u->ir_on && index < (1u << u->irt_order) &&
           (u->ir_map[index / 64] & (1ull << (index % 64)));
}

enum vtd_err vtd_ir_free(struct vtd_unit *u, uint32_t index, unsigned count)
{
    if (!u || !u->ir_on || !count_ok(count) || (index & (count - 1)) ||
        index >= (1u << u->irt_order)) {
        return VTD_ERR_INVAL;
    }
    uint64_t m = block_mask(index, count);
    if ((u->ir_map[index / 64] & m) != m) {
        return VTD_ERR_INVAL; /* not (entirely) allocated: double free or a stray index */
    }
    for (unsigned i = 0; i < count; i++) {
        if (load64(irte_slot(u, index + i)) & VTD_IRTE_P) {
            return VTD_ERR_STATE; /* still live: clear and invalidate it first */
        }
    }
    u->ir_map[index / 64] &= ~m;
    u->ir_used -= count;
    return VTD_OK;
}

uint32_t vtd_ir_in_use(const struct vtd_unit *u)
{
    return u ? u->ir_used : 0;
}

/* ---- Writing entries ---------------------------------------------------------------------- */

#if defined(__x86_64__) && !defined(VTD_NO_CMPXCHG16B)
#define HAVE_STORE128 1
/*
 * One 128-bit store the hardware sees whole: lock cmpxchg16b against the value just read. Nothing
 * else writes a remapped-format entry (the hardware only reads it and the server serialises calls
 * per unit), so the second attempt always succeeds; the bound is only a guard.
 */
static bool store128(volatile uint64_t *p, uint64_t lo, uint64_t hi)
{
    uint64_t old_lo = p[0], old_hi = p[1];
    for (unsigned attempt = 0; attempt < 4; attempt++) {
        bool ok;
        __asm__ volatile("lock cmpxchg16b %1"
                         : "=@ccz"(ok), "+m"(*(volatile struct vtd_irte *)p), "+a"(old_lo),
                           "+d"(old_hi)
                         : "b"(lo), "c"(hi)
                         : "memory");
        if (ok) {
            return true;
        }
    }
    return false;
}
#else
#define HAVE_STORE128 0
#endif

/* From not present: high half first, then the low half with P in one store (release order). */
static void write_from_not_present(volatile uint64_t *p, const struct vtd_irte *e)
{
    store64(&p[1], e->hi);
    store64(&p[0], e->lo);
}

enum vtd_err vtd_ir_set(struct vtd_unit *u, uint32_t index, const struct vtd_irte *e)
{
    if (!u || !e || !allocated(u, index) || !irte_valid(e)) {
        return VTD_ERR_INVAL;
    }
    volatile uint64_t *p = irte_slot(u, index);
    if (!(e->lo & VTD_IRTE_P)) {
        /* Becoming not present: the word with P first. */
        store64(&p[0], e->lo);
        store64(&p[1], e->hi);
    } else if (!(load64(&p[0]) & VTD_IRTE_P)) {
        write_from_not_present(p, e);
    } else {
#if HAVE_STORE128
        if (!store128(p, e->lo, e->hi)) {
            return VTD_ERR_HW;
        }
#else
        /* No 128-bit store: take the entry away, make sure no cached copy survives, rewrite. */
        store64(&p[0], load64(&p[0]) & ~VTD_IRTE_P);
        flush(u, (const void *)p, VTD_IRTE_SIZE);
        struct vtd_batch b;
        vtd_batch_init(&b, u);
        enum vtd_err err = vtd_batch_add_iec_index(&b, index, 0);
        if (err == VTD_OK) {
            err = vtd_batch_submit(&b, 0);
        }
        if (err != VTD_OK) {
            return err; /* left not present: the device's interrupts fault, never misroute */
        }
        write_from_not_present(p, e);
#endif
    }
    flush(u, (const void *)p, VTD_IRTE_SIZE);
    return VTD_OK;
}

enum vtd_err vtd_ir_clear(struct vtd_unit *u, uint32_t index)
{
    if (!u || !allocated(u, index)) {
        return VTD_ERR_INVAL;
    }
    volatile uint64_t *p = irte_slot(u, index);
    store64(&p[0], 0);
    store64(&p[1], 0);
    flush(u, (const void *)p, VTD_IRTE_SIZE);
    return VTD_OK;
}

enum vtd_err vtd_ir_get(const struct vtd_unit *u, uint32_t index, struct vtd_irte *out)
{
    if (!u || !out || !u->ir_on || index >= (1u << u->irt_order)) {
        return VTD_ERR_INVAL;
    }
    volatile uint64_t *p = irte_slot(u, index);
    out->lo = load64(&p[0]);
    out->hi = load64(&p[1]);
    return VTD_OK;
}
