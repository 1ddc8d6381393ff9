/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bookkeeping of untyped regions and free slots for the root task (see ut_pool.h). Placement is
 * the kernel's own rule and code (<portcullis/object_size.h>: each object at the watermark
 * rounded up to its own size, overflow-checked), so the mirror cannot drift from the kernel.
 */
#include <string.h>

#include <init/ut_pool.h>
#include <portcullis/object_size.h>
#include <portcullis/types.h>

void ut_pool_init(ut_pool_t *pool)
{
    memset(pool, 0, sizeof(*pool));
}

bool ut_pool_add(ut_pool_t *pool, uint64_t paddr, unsigned size_bits, bool device, uint32_t slot)
{
    if (pool->count >= UT_POOL_MAX || size_bits < PC_UNTYPED_MIN_BITS ||
        size_bits > PC_UNTYPED_MAX_BITS) {
        return false;
    }
    uint64_t size = 1ull << size_bits;
    if ((paddr & (size - 1)) != 0 || paddr + size < paddr) {
        return false;
    }
    ut_region_t *r = &pool->r[pool->count++];
    memset(r, 0, sizeof(*r));
    r->paddr = paddr;
    r->size_bits = (uint8_t)size_bits;
    r->device = device;
    r->slot = slot;
    return true;
}

/* Offset where `count` objects of 2^bits would go in r (the kernel's rule), or false if they do
 * not fit. */
static bool fit(const ut_region_t *r, unsigned bits, uint64_t count, uint64_t *offset)
{
    uint64_t first, watermark;
    if (pc_untyped_place(r->paddr, r->size_bits, r->watermark, bits, count, &first, &watermark) !=
        PC_OK) {
        return false;
    }
    *offset = first - r->paddr;
    return true;
}

int ut_pool_plan(const ut_pool_t *pool, unsigned obj_bits, uint64_t count, uint64_t *offset)
{
    int best = -1;
    uint64_t best_off = 0;
    for (unsigned i = 0; i < pool->count; i++) {
        const ut_region_t *r = &pool->r[i];
        uint64_t off;
        if (r->device || r->exhausted || !fit(r, obj_bits, count, &off)) {
            continue;
        }
        if (best < 0 || r->size_bits < pool->r[best].size_bits) {
            best = (int)i;
            best_off = off;
        }
    }
    if (best >= 0) {
        *offset = best_off;
    }
    return best;
}

void ut_pool_commit(ut_pool_t *pool, int index, uint64_t offset, unsigned obj_bits, uint64_t count)
{
    if (index < 0 || (unsigned)index >= pool->count) {
        return;
    }
    pool->r[index].watermark = offset + (count << obj_bits);
}

void dev_tree_init(dev_tree_t *t)
{
    t->count = 0;
}

int dev_tree_region(const ut_pool_t *pool, uint64_t paddr)
{
    for (unsigned i = 0; i < pool->count; i++) {
        const ut_region_t *r = &pool->r[i];
        if (r->device && paddr >= r->paddr && paddr - r->paddr < (1ull << r->size_bits)) {
            return (int)i;
        }
    }
    return -1;
}

static bool node_contains(const dev_node_t *n, uint64_t paddr)
{
    return paddr >= n->paddr && paddr - n->paddr < (1ull << n->bits);
}

int dev_tree_lookup(const dev_tree_t *t, uint64_t paddr)
{
    int found = -1;
    for (unsigned i = 0; i < t->count; i++) {
        if (node_contains(&t->n[i], paddr) && (found < 0 || t->n[i].bits < t->n[found].bits)) {
            found = (int)i;
        }
    }
    return found;
}

int dev_tree_add_root(dev_tree_t *t, uint64_t paddr, unsigned bits, uint32_t slot)
{
    if (t->count >= DEV_TREE_MAX || bits < PC_PAGE_BITS || bits > PC_UNTYPED_MAX_BITS) {
        return -1;
    }
    dev_node_t *n = &t->n[t->count];
    n->paddr = paddr;
    n->bits = (uint8_t)bits;
    n->slot = slot;
    n->frames = 0;
    n->child = -1;
    return (int)t->count++;
}

bool dev_tree_split(dev_tree_t *t, int parent, uint32_t first_slot)
{
    if (parent < 0 || (unsigned)parent >= t->count || t->count + 2 > DEV_TREE_MAX) {
        return false;
    }
    dev_node_t *p = &t->n[parent];
    if (p->child >= 0 || p->frames != 0 || p->bits <= PC_PAGE_BITS) {
        return false;
    }
    unsigned half = p->bits - 1u;
    int c = (int)t->count;
    for (unsigned k = 0; k < 2; k++) {
        dev_node_t *n = &t->n[t->count++];
        n->paddr = p->paddr + ((uint64_t)k << half);
        n->bits = (uint8_t)half;
        n->slot = first_slot + k;
        n->frames = 0;
        n->child = -1;
    }
    p->child = c;
    return true;
}

bool dev_tree_is_leaf(const dev_tree_t *t, int i)
{
    return i >= 0 && (unsigned)i < t->count && t->n[i].bits <= DEV_LEAF_BITS;
}

uint64_t ut_pool_ram_total(const ut_pool_t *pool)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < pool->count; i++) {
        if (!pool->r[i].device) {
            t += 1ull << pool->r[i].size_bits;
        }
    }
    return t;
}

bool ut_spare_put(ut_pool_t *pool, uint64_t paddr, unsigned size_bits, uint32_t slot)
{
    if (pool->nspare >= UT_SPARE_MAX || size_bits < PC_UNTYPED_MIN_BITS ||
        size_bits > PC_UNTYPED_MAX_BITS || slot == 0) {
        return false;
    }
    pool->spare[pool->nspare].paddr = paddr;
    pool->spare[pool->nspare].slot = slot;
    pool->spare[pool->nspare].size_bits = (uint8_t)size_bits;
    pool->nspare++;
    return true;
}

bool ut_spare_take(ut_pool_t *pool, unsigned size_bits, ut_spare_t *out)
{
    int best = -1;
    for (unsigned i = 0; i < pool->nspare; i++) {
        if (pool->spare[i].size_bits >= size_bits &&
            (best < 0 || pool->spare[i].size_bits < pool->spare[best].size_bits)) {
            best = (int)i;
        }
    }
    if (best < 0) {
        return false;
    }
    *out = pool->spare[best];
    pool->spare[best] = pool->spare[--pool->nspare];
    return true;
}

uint64_t ut_pool_ram_free(const ut_pool_t *pool)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < pool->nspare; i++) {
        t += 1ull << pool->spare[i].size_bits; /* revoked arenas: reusable as they are */
    }
    for (unsigned i = 0; i < pool->count; i++) {
        const ut_region_t *r = &pool->r[i];
        if (!r->device && !r->exhausted) {
            t += (1ull << r->size_bits) - r->watermark;
        }
    }
    return t;
}

/* ---- slots ---- */

static bool slot_is_used(const slot_map_t *m, uint32_t s)
{
    return (m->bits[s / 64] >> (s % 64)) & 1u;
}

void slot_map_init(slot_map_t *m, uint32_t first, uint32_t end)
{
    memset(m, 0, sizeof(*m));
    if (end > SLOT_MAP_MAX) {
        end = SLOT_MAP_MAX;
    }
    if (first == 0) {
        first = 1; /* slot 0 is the null cptr */
    }
    m->first = first;
    m->end = first < end ? end : first;
}

uint32_t slot_map_alloc(slot_map_t *m, uint32_t count)
{
    if (count == 0 || count > m->end - m->first) {
        return 0;
    }
    uint32_t run = 0;
    for (uint32_t s = m->first; s < m->end; s++) {
        run = slot_is_used(m, s) ? 0 : run + 1;
        if (run == count) {
            uint32_t start = s + 1 - count;
            for (uint32_t k = start; k <= s; k++) {
                m->bits[k / 64] |= 1ull << (k % 64);
                m->owner[k] = m->cur_owner;
            }
            m->used += count;
            if (s + 1 - m->first > m->high_water) {
                m->high_water = s + 1 - m->first;
            }
            return start;
        }
    }
    return 0;
}

void slot_map_free(slot_map_t *m, uint32_t slot, uint32_t count)
{
    for (uint32_t k = 0; k < count; k++) {
        uint32_t s = slot + k;
        if (s < m->first || s >= m->end || !slot_is_used(m, s)) {
            continue;
        }
        m->bits[s / 64] &= ~(1ull << (s % 64));
        m->owner[s] = 0;
        m->used--;
    }
}

void slot_map_set_owner(slot_map_t *m, uint8_t owner)
{
    m->cur_owner = owner;
}

uint32_t slot_map_next_owned(const slot_map_t *m, uint8_t owner, uint32_t from)
{
    if (owner == 0) {
        return 0;
    }
    for (uint32_t s = from < m->first ? m->first : from; s < m->end; s++) {
        if (slot_is_used(m, s) && m->owner[s] == owner) {
            return s;
        }
    }
    return 0;
}
