/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Second-level page tables (VT-d 3.7, 9.8): domains of 3 or 4 levels, map and unmap of ranges
 * with 4 KiB, 2 MiB and 1 GiB leaves, and reclamation of tables that became empty.
 *
 * Each operation is split seL4-style: a check pass over the tables with no side effects
 * (overlap, superpage splits, how many new tables a map needs), then the allocation of exactly
 * that many pages, then a pass that cannot fail. A map that fails therefore changes nothing.
 *
 * Ordering against a concurrent hardware walk: a new table is filled (and written back when the
 * walker does not snoop) before the entry that links it is written; an unlinked table is
 * returned to the caller, who frees it only after the IOTLB invalidation completed. Each table's
 * number of present entries lives in ignored bits 61:52 of the entry pointing to it, so
 * emptiness is known without scanning. Lazy reclamation (vtd_domain_set_spare_limit): a bounded
 * number of emptied tables stays linked with a count of 0, so an isolated map/unmap round on the
 * same region allocates, clears and frees nothing and its invalidation stays leaf-only.
 */
#include "mem.h"

static inline unsigned level_shift(unsigned level)
{
    return VTD_PAGE_SHIFT + 9 * (level - 1);
}

static inline unsigned level_index(uint64_t iova, unsigned level)
{
    return (unsigned)(iova >> level_shift(level)) & (VTD_SL_ENTRIES - 1);
}

static inline uint64_t *child_of(const struct vtd_unit *u, uint64_t e)
{
    return u->hw->phys_to_virt(u->hw->ctx, e & VTD_ADDR_MASK);
}

static inline bool superpage_ok(const struct vtd_unit *u, unsigned level, uint64_t s, uint64_t e,
                                uint64_t pa)
{
    if (level == 2 && !u->f.sp_2m) {
        return false;
    }
    if (level == 3 && !u->f.sp_1g) {
        return false;
    }
    if (level != 2 && level != 3) {
        return false;
    }
    uint64_t span = 1ull << level_shift(level);
    return ((s | pa) & (span - 1)) == 0 && e - s >= span;
}

enum vtd_err vtd_domain_init(struct vtd_domain *d, struct vtd_unit *u, uint16_t did,
                             unsigned levels)
{
    if (!d || !u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if ((uint32_t)did >> u->f.nd_bits || (did == 0 && u->f.caching_mode)) {
        return VTD_ERR_INVAL;
    }
    if (levels == 0) {
        levels = u->f.max_levels;
    }
    if ((levels == 3 && !(u->f.sagaw & VTD_SAGAW_39)) ||
        (levels == 4 && !(u->f.sagaw & VTD_SAGAW_48)) || levels < 3 || levels > 4) {
        return VTD_ERR_UNSUPPORTED;
    }
    *d = (struct vtd_domain){0};
    d->unit = u;
    d->did = did;
    d->levels = levels;
    d->aw = levels - 2;
    unsigned width = level_shift(levels) + 9;
    if (width > u->f.mgaw) {
        width = u->f.mgaw;
    }
    d->limit = 1ull << width;
    d->top_va = vtd_alloc_table(u, &d->top_pa);
    if (!d->top_va) {
        return VTD_ERR_NOMEM;
    }
    flush(u, d->top_va, VTD_PAGE_SIZE);
    d->table_pages = 1;
    return VTD_OK;
}

void vtd_domain_set_spare_limit(struct vtd_domain *d, unsigned limit)
{
    if (d) {
        d->spare_limit = limit;
    }
}

/* A table that became empty may stay linked as a spare (see vtd_domain_set_spare_limit). */
static inline bool keep_spare(const struct vtd_domain *d, bool covered)
{
    return !covered && !d->unit->cfg.no_sw_bits && d->spare_tables < d->spare_limit;
}

bool vtd_domain_map_needs_flush(const struct vtd_domain *d)
{
    return d->unit->f.caching_mode;
}

/* Number of tables a new table at `level` for [s, e) needs, itself included. */
static uint64_t tables_needed(const struct vtd_unit *u, unsigned level, uint64_t s, uint64_t e,
                              uint64_t pa)
{
    uint64_t n = 1;
    if (level == 1) {
        return n;
    }
    uint64_t span = 1ull << level_shift(level);
    for (uint64_t cur = s; cur < e;) {
        uint64_t next = (cur & ~(span - 1)) + span;
        uint64_t sub_e = next < e && next != 0 ? next : e;
        if (!superpage_ok(u, level, cur, sub_e, pa + (cur - s))) {
            n += tables_needed(u, level - 1, cur, sub_e, pa + (cur - s));
        }
        cur = sub_e;
    }
    return n;
}

/* Check pass of map: overlap and count of new tables. No side effects. */
static enum vtd_err map_check(const struct vtd_unit *u, const uint64_t *table, unsigned level,
                              uint64_t s, uint64_t e, uint64_t pa, uint64_t *need)
{
    uint64_t span = 1ull << level_shift(level);
    for (uint64_t cur = s; cur < e;) {
        uint64_t next = (cur & ~(span - 1)) + span;
        uint64_t sub_e = next < e && next != 0 ? next : e;
        uint64_t ent = load64(&table[level_index(cur, level)]);
        uint64_t sub_pa = pa + (cur - s);
        if (vtd_sl_present(ent)) {
            if (level == 1 || (ent & VTD_SL_PS)) {
                return VTD_ERR_OVERLAP;
            }
            enum vtd_err err = map_check(u, child_of(u, ent), level - 1, cur, sub_e, sub_pa, need);
            if (err != VTD_OK) {
                return err;
            }
        } else if (level > 1 && !superpage_ok(u, level, cur, sub_e, sub_pa)) {
            *need += tables_needed(u, level - 1, cur, sub_e, sub_pa);
        }
        cur = sub_e;
    }
    return VTD_OK;
}

/* Pages allocated up front, threaded through their first two quadwords. */
struct reserve {
    void *va;
    uint64_t pa;
};

static void *reserve_take(struct reserve *r, uint64_t *pa)
{
    void *va = r->va;
    uint64_t *w = va;
    *pa = r->pa;
    r->va = (void *)(uintptr_t)w[0];
    r->pa = w[1];
    w[0] = 0;
    w[1] = 0;
    return va;
}

/* Perform pass of map; returns how many entries of `table` became present. */
static unsigned map_apply(struct vtd_domain *d, uint64_t *table, unsigned level, uint64_t s,
                          uint64_t e, uint64_t pa, unsigned rights, struct reserve *r)
{
    const struct vtd_unit *u = d->unit;
    uint64_t span = 1ull << level_shift(level);
    unsigned added = 0;
    unsigned first = level_index(s, level), last = first;
    for (uint64_t cur = s; cur < e;) {
        uint64_t next = (cur & ~(span - 1)) + span;
        uint64_t sub_e = next < e && next != 0 ? next : e;
        unsigned idx = level_index(cur, level);
        uint64_t sub_pa = pa + (cur - s);
        last = idx;
        if (level == 1) {
            store64(&table[idx], vtd_sl_leaf_entry(sub_pa, rights, false));
            added++;
        } else {
            uint64_t ent = load64(&table[idx]);
            if (vtd_sl_present(ent)) {
                unsigned n =
                    map_apply(d, child_of(u, ent), level - 1, cur, sub_e, sub_pa, rights, r);
                if (!u->cfg.no_sw_bits) {
                    if (vtd_sl_count(ent) == 0 && n > 0) {
                        d->spare_tables--; /* a spare back in use */
                    }
                    store64(&table[idx], vtd_sl_table_entry(ent, vtd_sl_count(ent) + n));
                }
            } else if (superpage_ok(u, level, cur, sub_e, sub_pa)) {
                store64(&table[idx], vtd_sl_leaf_entry(sub_pa, rights, true));
                added++;
            } else {
                uint64_t cpa;
                uint64_t *child = reserve_take(r, &cpa);
                unsigned n = map_apply(d, child, level - 1, cur, sub_e, sub_pa, rights, r);
                /* The child is complete and written back before anything points to it. */
                store64(&table[idx], vtd_sl_table_entry(cpa, u->cfg.no_sw_bits ? 0 : n));
                d->table_pages++;
                added++;
            }
        }
        cur = sub_e;
    }
    flush(u, &table[first], (size_t)(last - first + 1) * sizeof(uint64_t));
    return added;
}

static bool range_in_domain(const struct vtd_domain *d, uint64_t iova, uint64_t size)
{
    return iova + size >= iova && iova + size <= d->limit;
}

/*
 * Fast path for the common single-page case: every table exists and the slot is free. Returns
 * false (having changed nothing) whenever the general path is needed.
 */
static bool map_one_fast(struct vtd_domain *d, uint64_t iova, uint64_t pa, unsigned rights)
{
    const struct vtd_unit *u = d->unit;
    uint64_t *table = d->top_va;
    uint64_t *link = NULL;
    for (unsigned level = d->levels; level > 1; level--) {
        link = &table[level_index(iova, level)];
        uint64_t ent = load64(link);
        if (!vtd_sl_present(ent) || (ent & VTD_SL_PS)) {
            return false;
        }
        table = child_of(u, ent);
    }
    uint64_t *leaf = &table[level_index(iova, 1)];
    if (vtd_sl_present(load64(leaf))) {
        return false; /* overlap: reported by the general path */
    }
    store64(leaf, vtd_sl_leaf_entry(pa, rights, false));
    flush(u, leaf, sizeof(*leaf));
    if (!u->cfg.no_sw_bits) {
        uint64_t ent = load64(link);
        if (vtd_sl_count(ent) == 0) {
            d->spare_tables--; /* a spare back in use */
        }
        store64(link, vtd_sl_table_entry(ent, vtd_sl_count(ent) + 1));
    }
    d->mapped_bytes += VTD_PAGE_SIZE;
    return true;
}

enum vtd_err vtd_domain_map(struct vtd_domain *d, uint64_t iova, uint64_t pa, uint64_t size,
                            unsigned rights)
{
    if (!d || !d->top_va || size == 0 || !rights || (rights & ~(VTD_R | VTD_W))) {
        return VTD_ERR_INVAL;
    }
    if ((iova | pa | size) & (VTD_PAGE_SIZE - 1)) {
        return VTD_ERR_ALIGN;
    }
    if (!range_in_domain(d, iova, size) || pa + size < pa || pa + size > (1ull << 52)) {
        return VTD_ERR_RANGE;
    }
    if (size == VTD_PAGE_SIZE && map_one_fast(d, iova, pa, rights)) {
        return VTD_OK;
    }
    struct vtd_unit *u = d->unit;
    uint64_t need = 0;
    enum vtd_err e = map_check(u, d->top_va, d->levels, iova, iova + size, pa, &need);
    if (e != VTD_OK) {
        return e;
    }
    struct reserve r = {NULL, 0};
    for (uint64_t i = 0; i < need; i++) {
        uint64_t p;
        uint64_t *va = vtd_alloc_table(u, &p);
        if (!va) {
            while (r.va) {
                uint64_t fp;
                void *fv = reserve_take(&r, &fp);
                u->hw->free_page(u->hw->ctx, fv, fp);
            }
            return VTD_ERR_NOMEM;
        }
        va[0] = (uint64_t)(uintptr_t)r.va;
        va[1] = r.pa;
        r.va = va;
        r.pa = p;
    }
    map_apply(d, d->top_va, d->levels, iova, iova + size, pa, rights, &r);
    d->mapped_bytes += size;
    return VTD_OK;
}

/* Check pass of unmap: a superpage partly inside the range cannot be split. */
static enum vtd_err unmap_check(const struct vtd_unit *u, const uint64_t *table, unsigned level,
                                uint64_t s, uint64_t e)
{
    uint64_t span = 1ull << level_shift(level);
    for (uint64_t cur = s; cur < e;) {
        uint64_t base = cur & ~(span - 1);
        uint64_t next = base + span;
        uint64_t sub_e = next < e && next != 0 ? next : e;
        uint64_t ent = load64(&table[level_index(cur, level)]);
        if (vtd_sl_present(ent) && level > 1) {
            if (ent & VTD_SL_PS) {
                if (cur != base || sub_e - cur != span) {
                    return VTD_ERR_SPLIT;
                }
            } else {
                enum vtd_err err = unmap_check(u, child_of(u, ent), level - 1, cur, sub_e);
                if (err != VTD_OK) {
                    return err;
                }
            }
        }
        cur = sub_e;
    }
    return VTD_OK;
}

static void inv_extend(struct vtd_unmap_result *res, uint64_t s, uint64_t e)
{
    if (res->inv_end <= res->inv_start) {
        res->inv_start = s;
        res->inv_end = e;
        return;
    }
    if (s < res->inv_start) {
        res->inv_start = s;
    }
    if (e > res->inv_end) {
        res->inv_end = e;
    }
}

/* Without counts: does the table still hold a present entry? (0 or 1) */
static unsigned table_used(const uint64_t *table)
{
    for (unsigned i = 0; i < VTD_SL_ENTRIES; i++) {
        if (vtd_sl_present(load64(&table[i]))) {
            return 1;
        }
    }
    return 0;
}

/* Perform pass of unmap; returns how many entries of `table` became not present. */
static unsigned unmap_apply(struct vtd_domain *d, uint64_t *table, unsigned level, uint64_t s,
                            uint64_t e, struct vtd_unmap_result *res)
{
    const struct vtd_unit *u = d->unit;
    uint64_t span = 1ull << level_shift(level);
    unsigned cleared = 0;
    unsigned first = level_index(s, level), last = first;
    for (uint64_t cur = s; cur < e;) {
        uint64_t base = cur & ~(span - 1);
        uint64_t next = base + span;
        uint64_t sub_e = next < e && next != 0 ? next : e;
        unsigned idx = level_index(cur, level);
        uint64_t ent = load64(&table[idx]);
        /* The range covers this entry's whole span: a table below it is not kept as a spare. */
        bool covered = cur == base && sub_e - base == span;
        cur = sub_e;
        if (!vtd_sl_present(ent)) {
            continue;
        }
        last = idx;
        if (level == 1 || (ent & VTD_SL_PS)) {
            store64(&table[idx], 0);
            cleared++;
            res->unmapped += span;
            inv_extend(res, base, base + span);
            continue;
        }
        uint64_t *child = child_of(u, ent);
        unsigned n = unmap_apply(d, child, level - 1, base > s ? base : s, sub_e, res);
        bool was_spare = !u->cfg.no_sw_bits && vtd_sl_count(ent) == 0;
        if (n == 0 && !(was_spare && covered)) {
            continue;
        }
        unsigned left = u->cfg.no_sw_bits ? table_used(child) : vtd_sl_count(ent) - n;
        if (left == 0 && !was_spare && keep_spare(d, covered)) {
            /* Stays linked, empty: nothing to free, no paging-structure invalidation. */
            store64(&table[idx], vtd_sl_table_entry(ent, 0));
            d->spare_tables++;
        } else if (left == 0) {
            if (was_spare) {
                d->spare_tables--;
            }
            /* Unlink first; the page is freed by the caller after the invalidation. The list
             * link in its first quadword reads as a not-present entry to a stale walker. */
            store64(&table[idx], 0);
            child[0] = res->freed.head_pa;
            res->freed.head_pa = ent & VTD_ADDR_MASK;
            res->freed.count++;
            res->tables_freed = true;
            d->table_pages--;
            inv_extend(res, base, base + span);
            cleared++;
        } else {
            if (!u->cfg.no_sw_bits) {
                store64(&table[idx], vtd_sl_table_entry(ent, left));
            }
        }
    }
    if (last >= first) {
        flush(u, &table[first], (size_t)(last - first + 1) * sizeof(uint64_t));
    }
    return cleared;
}

/* Fast path: one 4 KiB leaf whose table stays linked (non-empty, or kept as a spare).
 * false = nothing changed. */
static bool unmap_one_fast(struct vtd_domain *d, uint64_t iova, struct vtd_unmap_result *res)
{
    const struct vtd_unit *u = d->unit;
    if (u->cfg.no_sw_bits) {
        return false;
    }
    uint64_t *table = d->top_va;
    uint64_t *link = NULL;
    for (unsigned level = d->levels; level > 1; level--) {
        link = &table[level_index(iova, level)];
        uint64_t ent = load64(link);
        if (!vtd_sl_present(ent) || (ent & VTD_SL_PS)) {
            return false;
        }
        table = child_of(u, ent);
    }
    uint64_t *leaf = &table[level_index(iova, 1)];
    uint64_t ent = load64(link);
    if (!vtd_sl_present(load64(leaf)) || vtd_sl_count(ent) == 0) {
        return false;
    }
    bool spare = vtd_sl_count(ent) == 1;
    if (spare && !keep_spare(d, false)) {
        return false; /* the table must be unlinked: general path */
    }
    store64(leaf, 0);
    flush(u, leaf, sizeof(*leaf));
    store64(link, vtd_sl_table_entry(ent, vtd_sl_count(ent) - 1));
    if (spare) {
        d->spare_tables++;
    }
    *res = (struct vtd_unmap_result){
        .unmapped = VTD_PAGE_SIZE, .inv_start = iova, .inv_end = iova + VTD_PAGE_SIZE};
    d->mapped_bytes -= VTD_PAGE_SIZE;
    return true;
}

enum vtd_err vtd_domain_unmap(struct vtd_domain *d, uint64_t iova, uint64_t size,
                              struct vtd_unmap_result *res)
{
    if (!d || !d->top_va || !res || size == 0) {
        return VTD_ERR_INVAL;
    }
    if ((iova | size) & (VTD_PAGE_SIZE - 1)) {
        return VTD_ERR_ALIGN;
    }
    if (!range_in_domain(d, iova, size)) {
        return VTD_ERR_RANGE;
    }
    if (size == VTD_PAGE_SIZE && unmap_one_fast(d, iova, res)) {
        return VTD_OK;
    }
    *res = (struct vtd_unmap_result){0};
    enum vtd_err e = unmap_check(d->unit, d->top_va, d->levels, iova, iova + size);
    if (e != VTD_OK) {
        return e;
    }
    unmap_apply(d, d->top_va, d->levels, iova, iova + size, res);
    d->mapped_bytes -= res->unmapped;
    return VTD_OK;
}

enum vtd_err vtd_domain_lookup(const struct vtd_domain *d, uint64_t iova, uint64_t *pa,
                               unsigned *rights)
{
    if (!d || !d->top_va || !pa || !rights) {
        return VTD_ERR_INVAL;
    }
    if (iova >= d->limit) {
        return VTD_ERR_RANGE;
    }
    const uint64_t *table = d->top_va;
    for (unsigned level = d->levels; level >= 1; level--) {
        uint64_t ent = load64(&table[level_index(iova, level)]);
        if (!vtd_sl_present(ent)) {
            return VTD_ERR_INVAL;
        }
        if (level == 1 || (ent & VTD_SL_PS)) {
            uint64_t off = iova & ((1ull << level_shift(level)) - 1);
            *pa = (ent & VTD_ADDR_MASK & ~((1ull << level_shift(level)) - 1)) + off;
            *rights = (unsigned)(ent & (VTD_SL_R | VTD_SL_W));
            return VTD_OK;
        }
        table = child_of(d->unit, ent);
    }
    return VTD_ERR_INVAL;
}

static void free_tree(struct vtd_unit *u, uint64_t *table, uint64_t pa, unsigned level)
{
    if (level > 1) {
        for (unsigned i = 0; i < VTD_SL_ENTRIES; i++) {
            uint64_t ent = table[i];
            if (vtd_sl_present(ent) && !(ent & VTD_SL_PS)) {
                free_tree(u, child_of(u, ent), ent & VTD_ADDR_MASK, level - 1);
            }
        }
    }
    u->hw->free_page(u->hw->ctx, table, pa);
}

void vtd_domain_destroy(struct vtd_domain *d)
{
    if (!d || !d->top_va) {
        return;
    }
    free_tree(d->unit, d->top_va, d->top_pa, d->levels);
    d->top_va = NULL;
    d->table_pages = 0;
    d->spare_tables = 0;
    d->mapped_bytes = 0;
}

void vtd_page_list_release(struct vtd_unit *u, struct vtd_page_list *l)
{
    uint64_t pa = l->head_pa;
    uint64_t guard = l->count;
    while (pa && guard--) {
        uint64_t *va = u->hw->phys_to_virt(u->hw->ctx, pa);
        uint64_t next = va[0];
        va[0] = 0;
        u->hw->free_page(u->hw->ctx, va, pa);
        pa = next;
    }
    l->head_pa = 0;
    l->count = 0;
}
